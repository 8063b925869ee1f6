"""The council's own configuration in this service: term dates and who alerts go to."""
