def test_pages_render_for_each_role(world, login):
    for user in (world.staff_a, world.head_a, world.office, world.director, world.clerk):
        client = login(user)
        for url in (
            "/",
            f"/ke-hoach/{world.campaign.id}",
            "/hoat-dong",
            "/viec-can-xu-ly",
            "/doi-mat-khau",
        ):
            response = client.get(url, follow_redirects=True)
            assert response.status_code == 200, (user.username, url)
            assert "Việc cần xử lý" in response.get_data(as_text=True)
