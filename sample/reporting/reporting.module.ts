import { Module } from '@nestjs/common';
import { PgViewsModule } from 'nestjs-pgviews';
import { AuthorBookCount, AuthorBookCountSnapshot } from './author-book-count.views.js';
import { ReportingController } from './reporting.controller.js';

/** The reporting read models: views declared here, synced by PgViewsModule at boot. */
@Module({
  imports: [PgViewsModule.forFeature([AuthorBookCount, AuthorBookCountSnapshot])],
  controllers: [ReportingController],
})
export class ReportingModule {}
