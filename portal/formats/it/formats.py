DATETIME_FORMAT = r"j b Y, H:i \(\o\r\a \d\i \M\o\n\a\c\o, T\)"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
