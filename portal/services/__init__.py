"""Business rules as plain functions, called by pages, the API and the command line alike."""
