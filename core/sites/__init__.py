"""Site operations: the inventory, git, Docker environments, clone, deploy, smoke."""
