"""The demo shop: Lụa Mây, a made-up Vietnamese fashion brand that ``xuyen demo`` loads into an empty database."""
