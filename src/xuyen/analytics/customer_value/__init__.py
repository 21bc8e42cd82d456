"""The customer value pages: the dashboard and the customer 360 panel (``pages``)."""
