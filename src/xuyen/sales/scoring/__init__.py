"""Lead scoring: behaviour rules (points for events in the customer's event log, decaying with time) and fit rules
(points for what the lead is: province, contact, custom fields), kept on the lead with the reasons for its score."""
