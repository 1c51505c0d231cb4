"""Importers for the usage and cost exports people already have."""
