"""Orders from every channel: one order model, payments, fulfilment (shipping or pickup), cancellations, returns."""
