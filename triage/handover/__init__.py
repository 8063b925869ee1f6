"""The MASH's handover feature (router -> service -> repository)."""
