from ninja import NinjaAPI

api = NinjaAPI(title="智慧党建服务平台 API", version="1", urls_namespace="api")
