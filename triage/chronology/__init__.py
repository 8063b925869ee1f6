"""The MASH's chronology feature (router -> service -> repository)."""
