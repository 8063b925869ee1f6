"""The MASH's children feature (router -> service -> repository)."""
