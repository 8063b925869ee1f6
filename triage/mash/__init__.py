"""What the MASH features share: who may see a contact, the council's MASH configuration."""
