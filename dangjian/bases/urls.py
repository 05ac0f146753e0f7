app_name = "bases"
urlpatterns = []
