"""Tasks and reminders: calls, meetings and follow-ups on a customer (and optionally a deal), with due dates,
reminders to the owner in the app and by e-mail, overdue lists, and call outcomes on the customer's timeline."""
