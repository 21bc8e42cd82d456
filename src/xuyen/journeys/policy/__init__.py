"""The messaging policy: before any journey or campaign message goes out, ``decide`` says whether it may go now,
on which channel (and which next if that fails), later (quiet hours, frequency caps), or not at all (consent,
suppression, unreachable, already sent in this campaign). ``record_send`` counts what was sent."""
