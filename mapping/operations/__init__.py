"""Running a whole evening unattended: the state journal (resume after a crash), the status
file for monitoring, per-evening log files, and the supervisor that restarts the show.
See ``docs/operations.md``."""
