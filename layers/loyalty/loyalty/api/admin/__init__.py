"""The admin API's routes, one powertools Router per subject; functions/admin/handler.py includes them all."""

from loyalty.api.admin import campaigns, catalog, gamification, imports, members, partners, program, referrals

ROUTERS = (program.router, catalog.router, members.router, partners.router, imports.router, campaigns.router,
           referrals.router, gamification.router)
