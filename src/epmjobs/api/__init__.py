"""The HTTP face: Oracle's wire shapes and our namespaced extensions. Translation only."""
