"""Leads and sales: lead capture and quality, pipelines and deals, tasks and reminders."""
