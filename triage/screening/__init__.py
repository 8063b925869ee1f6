"""The MASH's screening feature (router -> service -> repository)."""
