import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { PgViewsModule } from 'nestjs-pgviews';
import { LibraryModule } from './library/library.module.js';
import { ReportingModule } from './reporting/reporting.module.js';
import { TenantsModule } from './tenants/tenants.module.js';
import { tenants } from './tenants/tenants.js';

@Module({
  imports: [
    MikroOrmModule.forRootAsync({
      driver: PostgreSqlDriver,
      useFactory: () => ({
        driver: PostgreSqlDriver,
        clientUrl: process.env.DATABASE_URL,
        autoLoadEntities: true,
        metadataProvider: ReflectMetadataProvider,
      }),
    }),
    // Runs the @RefreshSchedule jobs.
    ScheduleModule.forRoot(),
    // Syncs the declared views during bootstrap, before the app listens; tenant views in every tenant's schema.
    PgViewsModule.forRoot({ tenants }),
    LibraryModule,
    ReportingModule,
    TenantsModule,
  ],
})
export class AppModule {}
