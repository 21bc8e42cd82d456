"""Leads: customer profiles in an early stage, captured from every channel, checked for quality and assigned."""
