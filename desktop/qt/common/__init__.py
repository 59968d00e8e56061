"""What every tab shares: settings, the status banner, verdict colours, the background import warm-up."""
