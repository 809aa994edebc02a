"""Looking at outlets: safe aiohttp fetching and parsers; bytes in, core.models out, errors as values."""
