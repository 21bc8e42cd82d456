"""Payment gateway adapters: each signs its payment requests and verifies its callbacks, in its own protocol."""
