"""Demo orgs: a generator of realistic, noisy, overlapping CRM data and its seeding."""
