"""The MASH's notes feature (router -> service -> repository)."""
