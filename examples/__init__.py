"""Example Pulumi programs that use the level-ilert component."""
