"""Channel adapters: one package per provider behind the interface in ``base``; see ``registry``."""
