# newsbot on the embedded SQLite default; the archive lives on the /data volume.
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 newsbot && mkdir /data && chown newsbot /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY watchers watchers
COPY storage storage
COPY bot bot
COPY newsbot newsbot
RUN pip install --no-cache-dir . && rm -rf /root/.cache

USER newsbot
VOLUME /data
WORKDIR /data
ENV NEWSBOT_STORAGE_URL=sqlite+aiosqlite:////data/newsbot.db \
    PYTHONUNBUFFERED=1

# Healthy while the archive answers an integrity check.
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s \
    CMD python -c "import sqlite3,sys; c=sqlite3.connect('/data/newsbot.db', timeout=5); sys.exit(c.execute('PRAGMA quick_check').fetchone()[0] != 'ok')"

ENTRYPOINT ["newsbot"]
CMD ["run"]
