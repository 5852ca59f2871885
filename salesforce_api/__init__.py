"""Orgs without Heroku Connect: read through the Salesforce API (simple-salesforce's
REST and Bulk API 2.0) into org360-owned tables laid out like Connect's, and golden ids
written back to every org."""
