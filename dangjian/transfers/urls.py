app_name = "transfers"
urlpatterns = []
