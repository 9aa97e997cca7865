"""The execution-log contract: schema v1 with its validation, and reading and atomic writing of log files."""
