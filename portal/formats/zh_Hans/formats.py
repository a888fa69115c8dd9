DATETIME_FORMAT = "Y年n月j日 H:i（摩纳哥时间，T）"  # noqa: RUF001 (Chinese punctuation)
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
