"""Units of data. Plans are sold in decimal gigabytes and megabytes, as carriers advertise them."""

BYTES_PER_MB = 1_000_000
BYTES_PER_GB = 1_000_000_000
