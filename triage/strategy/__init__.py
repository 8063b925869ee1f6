"""The MASH's strategy feature (router -> service -> repository)."""
