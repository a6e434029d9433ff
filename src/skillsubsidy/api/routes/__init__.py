"""One router per part of the process."""
