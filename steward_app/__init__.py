"""The web app for the people who use the 360 view (`/app/` of `org360 serve`): data
stewards deciding duplicates, and everyone looking up a customer.

Server-rendered pages (Starlette, Jinja2), people signed in with their own e-mail and
password (`users`, `sessions`), reading the published golden tables and recording
decisions exactly as `org360 review decide` does (`warehouse.steward`).
"""
