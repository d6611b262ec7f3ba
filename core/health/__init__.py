"""Site health: checks per environment, the up/down state machine, the scheduler, incidents."""
