"""SLAs and the queue: policies per support package, business calendars, clocks and ranking."""
