"""Local fake servers on loopback standing in for outlets and chat platforms."""
