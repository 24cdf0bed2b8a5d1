"""Configuration every layer may import: the settings from the environment."""
