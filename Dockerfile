FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir .
ENV VICINITY_VAR_DIR=/var/lib/vicinity
EXPOSE 8000
CMD ["sh", "-c", "vicinity migrate && uvicorn server.app:create_app --factory --host 0.0.0.0 --port 8000 --workers 2"]
