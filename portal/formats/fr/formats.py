DATETIME_FORMAT = r"j b Y, H:i \(\h\e\u\r\e \d\e \M\o\n\a\c\o, T\)"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
