"""Stock: locations, levels per SKU and location, the ledger of every movement, reservations, channel buffers."""
