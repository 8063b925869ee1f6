"""The MASH's checks feature (router -> service -> repository)."""
