# Stand-in for the official nginx:1.26.x image: Debian trixie's nginx 1.26 with the official
# image's user (nginx, 101:101), paths, logs to stdout/stderr, curl, entrypoint and stop signal.
ARG BASE
FROM ${BASE}
RUN groupadd --system --gid 101 nginx \
 && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent \
      --shell /bin/false nginx \
 && apt-get update \
 && apt-get install -y nginx curl \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled /etc/nginx/sites-available \
      /var/www/html \
 && mkdir -p /var/cache/nginx /etc/nginx/conf.d /docker-entrypoint.d \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx.conf /etc/nginx/nginx.conf
COPY docker-entrypoint.sh /docker-entrypoint.sh
ENTRYPOINT ["/docker-entrypoint.sh"]
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
