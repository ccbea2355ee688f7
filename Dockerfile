# The CDP for hosts other than Databricks Apps: gunicorn, as a non-root user.
# JavaScript libraries come from the npm registry, installed in a build stage.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=cdp_site.settings.production \
    CDP_DATA_DIR=/var/lib/cdp PORT=8000
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
COPY --from=assets /build/node_modules ./node_modules
RUN useradd --system --uid 10001 --home /app cdp \
    && mkdir -p /var/lib/cdp && chown -R cdp /var/lib/cdp \
    && SECRET_KEY=build-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && chown -R cdp /var/lib/cdp
USER cdp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health')"
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn -c cdp_site/gunicorn.conf.py cdp_site.wsgi:application --bind 0.0.0.0:${PORT}"]
