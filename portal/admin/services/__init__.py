"""The agent console's own rules and queries: code only the console calls (shared rules stay in
portal/services/). Views in portal/admin/ call these; nothing outside admin does."""
