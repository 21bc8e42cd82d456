"""Faithful local fakes of outside services' wire protocols (real HTTP, real signatures, real SMTP/IMAP)."""
