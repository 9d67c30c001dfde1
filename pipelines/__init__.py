"""Dagster definitions for oyster-lens: resources, assets by layer, checks, schedules and the CLI."""
